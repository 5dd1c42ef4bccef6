"""The platform-neutral middle: events, command grammar, engine, scheduler, delivery, settings, server."""
