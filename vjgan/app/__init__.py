"""The live app: wires audio → analysis → mapping → generator → render threads, and the panel."""
