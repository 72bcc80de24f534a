"""Control stage: the parameter registry, the control queue, OSC in/out and the ImGui panel."""
