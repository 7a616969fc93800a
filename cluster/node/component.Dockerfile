# A Kubernetes component image: one static binary on our Debian base.
# Its command is the binary's name on PATH; /entrypoint runs it too.
ARG BASE
FROM ${BASE}
ARG BIN
ARG PACKAGES=""
RUN if [ -n "$PACKAGES" ]; then \
      apt-get update && apt-get install -y $PACKAGES \
      && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt/*; \
    fi
COPY ${BIN} /usr/local/bin/${BIN}
RUN ln -s /usr/local/bin/${BIN} /entrypoint && ln -s /usr/local/bin/${BIN} /${BIN}
ENTRYPOINT ["/entrypoint"]
