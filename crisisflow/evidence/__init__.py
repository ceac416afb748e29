"""Evidence attached to an incident: screenshots of posts, documents.

Files are checked by their content (not their name or the browser's claim), stored under
a random name outside any public URL, and served only through a view that checks the
person may see the incident. Nothing in the app deletes or changes them.
"""
