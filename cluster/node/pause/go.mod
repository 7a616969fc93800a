module moorage.local/pause

go 1.24
