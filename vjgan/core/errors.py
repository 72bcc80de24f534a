"""Errors that reach the user as one clear line (no traceback), whatever stage raised them."""


class UserError(Exception):
    """Bad input from the user (file, device, preset, checkpoint, flag): say what and where, then go on."""
