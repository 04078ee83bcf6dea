// Render the maths that pymdownx.arithmatex (generic mode) leaves as \( ... \) and \[ ... \] in
// <span class="arithmatex"> / <div class="arithmatex">, with the KaTeX copy shipped inside the site.
// Material's document$ fires on every page load, including instant navigation.
document$.subscribe(({ body }) => {
  for (const element of body.querySelectorAll(".arithmatex")) {
    renderMathInElement(element, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  }
});
