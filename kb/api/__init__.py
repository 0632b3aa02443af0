"""The HTTP JSON API and the embeddable help-centre widget: a face on top of `kb.service`.

`kb serve` runs `create_app` on uvicorn; FastAPI and uvicorn are imported only here.
"""
