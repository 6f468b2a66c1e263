"""What a model costs: FLOPs, hardware, the training footprint (energy, carbon, dollars), serving
on a roofline, lifetime (training + inference) optima and the microbenchmark of this machine.

Imports the laws and the shared conventions only; a new device goes in ``datasets/hardware.csv``
(read by ``hardware``), a new cost model in a module here, with its ``engine.formula.Formula``
beside its code and listed in ``engine.analysis.registry.COST_MODELS`` (the pages and the
Methodology page show it from there).
"""
