"""What a reader sees: figures (`plots`) and live explorers (`widgets`)."""
