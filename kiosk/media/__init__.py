"""Media: the asyncio loop thread, the investor peer connection and the packet recorder."""
