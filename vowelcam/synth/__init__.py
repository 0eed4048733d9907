"""The synthetic corpus with known truth (``vowelcam synth``): speakers, lexicon, utterance plans,
KlattGrid rendering."""
