"""The ``chainrule`` subcommands, one module each (see ``chainrule.cli``)."""
