"""The FastAPI app: the Twilio gateway, the staff API and the development phone."""
