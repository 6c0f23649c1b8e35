"""citeqa: citation-grounded QA and citation lookup over one paper and the sources its footnotes cite."""

__version__ = "0.1.0"
