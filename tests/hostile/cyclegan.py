"""The hostile bank of the `cyclegan` assignment (the cases are in tests/hostile/common.py)."""
from hostile.common import cases, mistakes_bank

ASSIGNMENT = "cyclegan"
BANK = mistakes_bank(ASSIGNMENT)
FULL = dict(BANK.POINTS)
SIGNATURES = {"cycle_consistency_loss": "cycle_consistency_loss(real, reconstructed)",
              "identity_loss": "identity_loss(real, same)",
              "cyclegan_generator_loss": "cyclegan_generator_loss(g_xy, g_yx, d_x, d_y, real_x, real_y, "
                                         "cycle_weight=10.0, identity_weight=5.0)"}
WRONG = "\n" + BANK.MISTAKES["cycle_consistency_loss"]["L2 instead of L1"][0]
CASES = cases(ASSIGNMENT, FULL, SIGNATURES, WRONG, BANK.CORRECT_VARIANTS)
