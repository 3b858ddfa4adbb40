"""MkDocs hook: the theme's two state checkboxes carry `autocomplete="off"`, which HTML
allows only on text-like inputs (the W3C checker reports it on every page). Drop it."""

TOGGLES = (
    '<input class="md-toggle" data-md-toggle="drawer" type="checkbox" id="__drawer"',
    '<input class="md-toggle" data-md-toggle="search" type="checkbox" id="__search"',
)


def on_post_page(output: str, page, config) -> str:
    for toggle in TOGGLES:
        output = output.replace(f'{toggle} autocomplete="off">', f"{toggle}>")
    return output


def on_post_template(output_content: str, template_name: str, config) -> str:
    """The same for pages made from a template alone (404.html)."""
    return on_post_page(output_content, None, config)
