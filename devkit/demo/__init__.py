"""The demo of the whole pipeline on embedded defaults: ``./dev demo``.

``python -m devkit.demo`` runs :func:`devkit.demo.run.run_demo`; its steps are
:mod:`devkit.demo.images` (thumbnails) and :mod:`devkit.demo.seo` (SEO proposals).
"""
