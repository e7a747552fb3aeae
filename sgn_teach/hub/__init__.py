"""Everything between a network and a file: checkpoints, building models from configs, what ships.

checkpoint.py  the checkpoint format: save_checkpoint, read_checkpoint (checked, weights only), history
build.py       build_model (config → network) and load_checkpoint (file → trained network)
shipped.py     the checkpoints and ablation results that ship inside the package
diffusion.py   the frozen SGN that guides notebook 07's diffusion model; its sampling steps
audio_text.py  saving / loading notebook 08's audio–text embedding, or choosing CLAP
clap.py        CLAP through `transformers` (pretrained weights; optional extra)
"""
