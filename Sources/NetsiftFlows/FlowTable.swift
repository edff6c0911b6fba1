// NetsiftFlows: the flow table, TCP conversation state and analysis.
