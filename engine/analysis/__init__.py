"""What the pages and the CLI ask of the laws and the data: the Plan scenario (``plan``), scaling
tables and frontiers (``scaling``), precision and MoE comparisons, fits of L(N, D) and of the
Step Law (``fit``, ``fit_guidance``, ``hyperparams``), isoFLOP analysis, Pareto fronts, and the
registry of every law (published and saved fits). A new analysis goes in a module here.
"""
