"""Words that a page breaks across two lines, as Chromium laid them out."""

# Every run of non-space characters (a word, a reference, a date) inside the elements: its
# boxes on more than one line means it was broken in the middle.
_BROKEN = """
(selector) => {
  const broken = [];
  for (const element of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.textContent.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set(
          [...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))
        );
        if (lines.size > 1) broken.push(match[0]);
      }
    }
  }
  return broken;
}
"""


def broken_words(page, selector: str) -> list[str]:
    """The words, references and dates under `selector` shown on more than one line."""
    return page.evaluate(_BROKEN, selector)
