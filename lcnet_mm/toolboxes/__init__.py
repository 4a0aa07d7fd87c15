"""What lcnet-mm adds to each toolbox's registries, one module per toolbox. A toolbox's registries import its module
on their first look-up (:mod:`lcnet_mm.registry`), so a user of one toolbox imports neither of the others."""
