"""The one composition root: settings in, the tool's parts out (`services.Services`), and `groundhog
doctor`'s checks of them."""
