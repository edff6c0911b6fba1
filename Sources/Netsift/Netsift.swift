// The engine as a library. `import Netsift` is enough to read a capture, run the pipeline and read
// its findings: the stage modules' types that the API hands out (packets and their summaries,
// conversations, messages, findings) come with it.
@_exported import NetsiftCapture
@_exported import NetsiftDissect
@_exported import NetsiftFlows
@_exported import NetsiftReport
