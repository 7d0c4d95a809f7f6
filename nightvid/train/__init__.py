"""Training (imported only by ``nightvid train`` and tests; inference never needs it).

- :mod:`.data`: synthetic (dark noisy raw, clean raw) pairs, seeded, with a fixed split.
- :mod:`.cameras`, :mod:`.noise_profiles`: real colour matrices, illuminants, noise calibrations.
- :mod:`.denoiser`: teacher and distilled-student training; :mod:`.evaluate`: PSNR and speed
  against OpenCV's fastNlMeans and the classical denoiser; :mod:`.card`: model cards.
- :mod:`.cli`: ``add_parser(subparsers)`` / ``run(args)`` for ``nightvid train``.
"""
