"""Troubleshooting knowledge base for real-time audio/video apps.

Stages, each its own module, data flowing one way:
articles → lint → chunking → encoders → index → search → evaluate; then cli and app.
Nothing heavy (torch, faiss, streamlit) is imported here.
"""

__version__ = "0.1.0"
