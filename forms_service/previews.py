"""A page of an uploaded PDF as a PNG image, for staff to read in the case page.

The PDF was checked at upload (uploads.py) but is still the applicant's file: PDFium
(pypdfium2, Chrome's PDF engine) renders it in the sandbox (sandbox.py: a child process with
limits on memory and CPU time and a wall-clock timeout), so that a hostile file can at worst
fail its own preview. Nothing is kept: the image is made each time it is asked for (the case
page asks for the first page).
"""

from . import sandbox

PREVIEW_WIDTH = 900  # pixels: a page as wide as the case page shows it, sharp on most screens
PREVIEW_SECONDS = 8  # wall clock, then the child is killed
PREVIEW_CPU_SECONDS = 5
PREVIEW_MEMORY = 768 * 1024 * 1024  # address space; Python with PDFium starts near 60 MB
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Run in the sandbox with the PDF on stdin, the page (1 for the first) and the width after the
# limits: writes the number of pages, a newline, then the page as PNG; nothing when it fails.
_RENDER = """
import io, sys
import pypdfium2

def render(content, number, width):
    document = pypdfium2.PdfDocument(content)
    count = len(document)
    if not 1 <= number <= count:
        return count, b""
    page = document[number - 1]
    page_width, _height = page.get_size()
    image = page.render(scale=width / max(page_width, 1.0)).to_pil()
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return count, out.getvalue()

try:
    count, png = render(sys.stdin.buffer.read(), int(sys.argv[3]), int(sys.argv[4]))
except Exception:
    sys.exit(1)
sys.stdout.buffer.write(str(count).encode("ascii") + b"\\n" + png)
"""


def pdf_page(content: bytes, number: int = 1, width: int = PREVIEW_WIDTH) -> tuple[int, bytes]:
    """(pages in the PDF, page `number` as PNG); the PNG is b"" for a page that is not there.
    Raises ValueError when the PDF could not be rendered within the limits."""
    result = sandbox.run(
        _RENDER,
        content,
        int(number),
        int(width),
        seconds=PREVIEW_SECONDS,
        cpu_seconds=PREVIEW_CPU_SECONDS,
        memory=PREVIEW_MEMORY,
    )
    if result is None:
        raise ValueError("the PDF took too long to render")
    head, _, png = result.stdout.partition(b"\n")
    if result.returncode != 0 or not head.isdigit() or (png and not png.startswith(PNG_SIGNATURE)):
        raise ValueError("the PDF could not be rendered")
    return int(head), png
