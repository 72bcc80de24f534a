"""Control stage: OSC in/out (TouchOSC, Ableton), OSC learn, transport and the ImGui panel. They post
`ControlMessage`s to the registry's queue (vjgan.core.registry) and read state snapshots; they never touch the
generator or the output's GL state."""
