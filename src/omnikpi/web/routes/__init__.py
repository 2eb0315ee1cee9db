"""The app's routers: sign-in and language, pages, the JSON API, the API docs."""
