"""GAML (GAMA's modelling language) checked without GAMA: a parser ported from GAMA's Xtext grammar
(:mod:`.parser`), a name checker driven by a catalogue extracted from GAMA's sources (:mod:`.checker`,
``catalogue.json``), and the contract between the shipped GAML and the Python side (:mod:`.contract`)."""
