"""Training data: HumanML3D/KIT-ML loaders (`humanml3d`), the procedural captioned motion corpus (`synth`), BVH
import (`bvh_import`) and the HumanML3D layout writer (`layout`). See docs/data.md."""
