"""The library: papers and posts the personas read, and the prior-art check that names the nearest one."""
