# FLOPwise on its embedded database: docker build -t flopwise . && docker run -p 8501:8501 flopwise
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    FLOPWISE_DB=/home/flopwise/data/flopwise.duckdb

RUN useradd --create-home --uid 1000 flopwise
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY --chown=flopwise:flopwise . .

USER flopwise
# Build the database (published data) into the image so the first start is instant.
RUN python -m engine db

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4).status != 200)"
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0"]
