"""Helpers the test folders share: problem builders (`problems`), torch references
(`torch_ref`), tiny datasets for the trainer (`datasets`)."""
