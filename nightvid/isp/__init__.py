"""Raw-domain ISP stages: each a pure function on tensors (plus a thin module where useful).

Tensor conventions: mosaic (B,1,H,W); packed Bayer (B,4,H/2,W/2) in plane order R, Gr, Gb, B;
linear RGB (B,3,H,W) named by space (cam_rgb, lin_srgb); display (B,3,H,W) gamma-encoded.
"""
