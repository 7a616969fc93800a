# The pod sandbox image: just our static pause binary.
FROM scratch
COPY pause /pause
ENTRYPOINT ["/pause"]
