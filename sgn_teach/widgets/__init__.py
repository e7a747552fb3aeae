"""The notebooks' ipywidgets panels (the highest layer but the command line and the exercises).

explorer.py    mixture_explorer: two instruments and a seed → players, assignment maps, masks (notebook 04)
playground.py  playground_widget: train and score a short run from a few controls (notebook 06)
"""
