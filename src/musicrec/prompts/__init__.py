"""Playlists from a prompt in words ("rainy sunday jazz, slow, like Norah Jones").

- `words`: normalising the words of prompts and playlist titles alike;
- `vocabulary`: what title words mean, learned at build time from playlists;
- `parse`: a prompt read into seeds, negative seeds, filters, targets and words, each part
  with how it was read;
- `answer`: the songs for a read prompt, ranked.

This package's `__init__` imports nothing: `musicrec.library` loads the vocabulary, and
`answer` reads an opened library.
"""
