module moorage.local/runcwrap

go 1.24
