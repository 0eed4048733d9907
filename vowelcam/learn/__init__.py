"""Classifiers on spectrograms: splits, ResNets, training, inference.

- :mod:`.dataset`: tasks (``vowels``, ``vowels4k``, ``voicing``), speaker/recording-grouped splits, the torch
  Dataset over the spectrogram store, axis-preserving augmentation
- :mod:`.models`: single-channel torchvision ResNets with time-only strides (<= 125 Hz per row at ``layer4`` by
  default), ImageNet/local weights, ``model.pt`` checkpoints (:func:`~.models.load_model`)
- :mod:`.device`: the device, training precision and fast paths (bf16, channels-last, ``torch.compile``)
- :mod:`.loop`: one fold's resumable training loop; :mod:`.train`: the ``train`` stage and its outputs
- :mod:`.metrics`: Wilson intervals, confusion matrices, ``predictions.csv`` rows
- :mod:`.predict`: score a run with an existing model (used by ``analyze --model``)
"""
