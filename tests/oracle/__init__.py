"""An independent implementation of /work/shared/analysis-spec.md, for cross-checking."""
