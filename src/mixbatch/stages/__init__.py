"""Pipeline stages: one module per `mixbatch` subcommand (add_arguments, run, main)."""
