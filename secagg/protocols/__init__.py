"""Protocol state machines and the rules that configure them.

Each protocol (SecAgg, SecAgg+) lives here as one state class per round,
next to the helpers that its rounds share. For SecAgg+ these are the rule
that chooses the communication graph's degree and Shamir threshold
(:mod:`secagg.protocols.graph_parameters`) and the Harary graph built from
them (:mod:`secagg.protocols.graph`).
"""
