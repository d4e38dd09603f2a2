# How make matrix boots the GCC kernel: on an emulated Intel CPU, with
# call-depth tracking on (retbleed=stuff needs an Intel model).
cpu=Skylake-Client
cmdline=retbleed=stuff
