"""Procedural SMPL-22 motion with captions: action families -> pose tracks -> IK/FK joints -> corpus on disk."""
