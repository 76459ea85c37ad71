"""The floor of the HTTP stack: a bare FastAPI endpoint that returns a constant (served by
uvicorn like `modelfab serve`), so a server's latency can be read against it."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/ready")
def ready() -> dict:
    return {"ready": True}


@app.post("/predict")
def predict(record: dict) -> dict:
    return {"prediction": 0, "probabilities": {"0": 1.0, "1": 0.0}}
