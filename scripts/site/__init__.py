"""The static site: the generated pages of docs/ and reports/, built with Sphinx and MyST-Parser (nox -s docs)."""
