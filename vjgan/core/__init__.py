"""Shared ground every stage may import: the messages between stages (Features, FrameParams,
GeneratedFrame), the parameter registry and control queue, vocabularies (bend transforms, noise masks,
effect parameters, pitch classes, source names), small protocols (LatentModel), errors and paths, the
render loop's counters (LiveStats) and what the control panel sees and may do (PanelState, PanelPort).
Plain Python and numpy only, so importing it never pulls in torch or GL."""
