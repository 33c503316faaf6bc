# The IProduction worker image: `process --worker` long-polls the job queue of an AWS deployment
# (template.yaml's GPU fleet runs it on ECS), and `iprod` is on the PATH, so the same image can
# `iprod run` a job or `iprod serve` the embedded service.
#
# The build context is not the checkout: `make image` (scripts/image.sh) stages one with the
# release binaries, the whole model pack (u2net included) and, for the GPU variant, the GPU
# runtime (layers/fetch-gpu-runtime.sh). It builds with podman offline here, and with Docker:
#
#   make image                    # target cpu (the default), tag iprod-worker:cpu
#   make image-gpu                # target gpu, tag iprod-worker:gpu
#   docker build --target gpu -t iprod-worker:gpu -f Dockerfile .iprod/image-context
#
# Configuration is the environment, as on Lambda: IPROD_TABLE, IPROD_QUEUE_URL, IPROD_BUCKETS,
# AWS_REGION, … (events/local.env lists them all); credentials from the task role.

FROM debian:bookworm-slim AS base
# Debian's ffmpeg: libx264 for the CPU, and NVENC/NVDEC (loaded from the host driver at run time).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 iprod \
 && useradd --system --uid 10001 --gid iprod --create-home --home-dir /var/lib/iprod \
      --shell /usr/sbin/nologin iprod
COPY model-pack/ /opt/iprod/model-pack/
COPY bin/process bin/iprod /usr/local/bin/
ENV IPROD_MODEL_DIR=/opt/iprod/model-pack \
    IPROD_FFMPEG=/usr/bin/ffmpeg \
    IPROD_FFPROBE=/usr/bin/ffprobe \
    RUST_LOG=info
WORKDIR /var/lib/iprod
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/process"]
CMD ["--worker"]

# The GPU variant: onnxruntime-gpu's library (with its CUDA provider beside it) replaces the CPU
# build in the model pack, and the CUDA 13 / cuDNN 9 libraries it loads come from PyPI's wheels
# (layers/fetch-gpu-runtime.sh). The host's NVIDIA container toolkit mounts the driver (a CUDA 13
# one); "video" gives ffmpeg NVENC. Without a usable GPU the same image runs on the CPU, and says
# so in its log.
FROM base AS gpu
COPY gpu/model-pack/ /opt/iprod/model-pack/
COPY gpu/cuda/ /opt/iprod/cuda/
ENV LD_LIBRARY_PATH=/opt/iprod/cuda \
    IPROD_GPU=true \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,video

# Last, so a build without --target gives the CPU image.
FROM base AS cpu
