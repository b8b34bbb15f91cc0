from setuptools import setup

setup(name="web", version="1.0", py_modules=["app"], install_requires=["flask>=3"])
