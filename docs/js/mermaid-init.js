// Render every ```mermaid block (a <pre class="mermaid"> made by pymdownx.superfences).
import mermaid from "https://cdn.jsdelivr.net/npm/mermaid@11/dist/mermaid.esm.min.mjs";

mermaid.initialize({ startOnLoad: true });
