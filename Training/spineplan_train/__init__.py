"""Training, export and evaluation of the SpinePlan localizer network (see Docs/model-contract.md)."""
